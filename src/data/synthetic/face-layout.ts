// From traits (who) and nuisance (this photo) to the measurements and colours of one face, in face units
// (the image spans -1..1, y down). Expression moves the mouth, eyes and brows here.
import { HAIR, IRIS, SKIN, along, mix, shade, type Rgb } from "./color.js";
import type { HeadShape } from "./head.js";
import type { Traits } from "./identity.js";
import type { Nuisance } from "./nuisance.js";

export type HairStyle = "bald" | "buzz" | "short" | "medium" | "long";
export type FacialHair = "none" | "stubble" | "mustache" | "goatee" | "full";

export interface FaceLayout {
  head: HeadShape;
  /** Half-width at the cheekbones, cheekbone and chin heights, top of the skull, jaw squareness, chin half-width. */
  halfWidth: number;
  cheekY: number;
  chinY: number;
  topY: number;
  jawPower: number;
  chinHalf: number;
  skin: Rgb;
  blush: number;
  eye: { x: number; y: number; halfWidth: number; halfHeight: number; tilt: number; lid: number; gaze: number };
  iris: { radius: number; color: Rgb };
  brow: { y: number; thickness: number; arch: number; tilt: number; length: number; color: Rgb };
  nose: { top: number; tipY: number; halfWidth: number; bridge: number; tip: number };
  mouth: { y: number; halfWidth: number; upper: number; lower: number; color: Rgb; smile: number; open: number };
  ear: { size: number };
  hair: { style: HairStyle; color: Rgb; hairline: number; volume: number; part: number; fringe: boolean };
  facialHair: { kind: FacialHair; density: number };
  glasses: { shape: "round" | "square"; frame: Rgb; tint: number; thickness: number } | null;
  age: number;
  freckles: number;
}

function hairStyle(t: Traits): HairStyle {
  const length = t.hairLength;
  if (length < 0.1) return t.masculine > 0.5 ? "bald" : "short";
  if (length < 0.25) return "buzz";
  // long hair is more common on less masculine faces
  const long = length + 0.25 * (0.5 - t.masculine);
  return long < 0.5 ? "short" : long < 0.75 ? "medium" : "long";
}

function facialHair(t: Traits): FacialHair {
  if (t.masculine < 0.55 || t.beard < 0.45) return "none";
  return t.beard < 0.6 ? "stubble" : t.beard < 0.72 ? "mustache" : t.beard < 0.85 ? "goatee" : "full";
}

export function layoutFace(t: Traits, n: Nuisance): FaceLayout {
  const halfWidth = 0.6 + 0.14 * t.faceWidth + 0.04 * (t.masculine - 0.5);
  const cheekY = 0.02 + 0.08 * t.cheekFull;
  const chinY = 0.9 + 0.16 * t.faceLength;
  const topY = -1.0 - 0.12 * t.faceLength;
  const eyeY = -0.1 + 0.1 * (t.eyeY - 0.5);
  const mouthY = 0.6 + 0.12 * (t.mouthY - 0.5) - 0.02 * n.smile;
  const eyeX = 0.26 + 0.09 * t.eyeSpacing;
  const skinBase = along(SKIN, t.skinTone);
  const warm = (t.skinWarm - 0.5) * 24;
  const skin: Rgb = [skinBase[0] + warm, skinBase[1] + warm * 0.2, skinBase[2] - warm];
  let hairColor = along(HAIR.slice(0, 7), t.hairColor);
  if (t.hairColor > 0.9) hairColor = HAIR[7]!; // auburn
  if (t.age > 0.8) hairColor = mix(hairColor, HAIR[8]!, (t.age - 0.8) * 4);
  const style = hairStyle(t);
  const glassesOn = t.glasses > 0.8 && !n.glassesOff;
  return {
    head: {
      rx: halfWidth * 1.04,
      ry: ((chinY - topY) / 2) * 1.02,
      rz: 0.8,
      cy: (chinY + topY) / 2,
      eyeX,
      eyeY,
      mouthY,
    },
    halfWidth,
    cheekY,
    chinY,
    topY,
    jawPower: 1.6 + 2.2 * t.jawSquare + 0.6 * (t.masculine - 0.5),
    chinHalf: halfWidth * (0.12 + 0.3 * t.chinWidth),
    skin,
    blush: 0.08 + 0.2 * t.blush,
    eye: {
      x: eyeX,
      y: eyeY,
      halfWidth: 0.095 + 0.04 * t.eyeWidth,
      halfHeight: (0.045 + 0.03 * t.eyeHeight) * n.eyeOpen * (1 - 0.25 * n.smile),
      tilt: (t.eyeTilt - 0.5) * 0.35,
      lid: 0.012 + 0.02 * t.lidWeight,
      gaze: (n.yaw > 0 ? -1 : 1) * Math.min(0.5, Math.abs(n.yaw)) * 0.5,
    },
    iris: { radius: 0.045 + 0.02 * t.irisSize, color: along(IRIS, t.irisColor) },
    brow: {
      y: eyeY - (0.12 + 0.06 * t.browGap) - 0.035 * n.browRaise,
      thickness: 0.02 + 0.035 * t.browThick + 0.01 * (t.masculine - 0.5),
      arch: 0.01 + 0.05 * t.browArch,
      tilt: (t.browTilt - 0.5) * 0.3 - 0.06 * Math.min(0, n.browRaise),
      length: 0.13 + 0.08 * t.browLength,
      color: t.age > 0.85 ? mix(hairColor, [90, 80, 70], 0.4) : shade(hairColor, 0.85),
    },
    nose: {
      top: eyeY + 0.02,
      tipY: 0.22 + 0.14 * t.noseLength,
      halfWidth: 0.07 + 0.05 * t.noseWidth,
      bridge: 0.025 + 0.025 * t.noseBridge,
      tip: 0.035 + 0.025 * t.noseTip,
    },
    mouth: {
      y: mouthY,
      halfWidth: (0.17 + 0.08 * t.mouthWidth) * (1 + 0.15 * n.smile),
      upper: 0.022 + 0.03 * t.lipUpper,
      lower: 0.03 + 0.035 * t.lipLower,
      color: mix(shade(skin, 0.82), [170, 60, 70], 0.15 + 0.35 * t.lipRed),
      smile: n.smile,
      open: n.mouthOpen,
    },
    ear: { size: 0.1 + 0.05 * t.earSize },
    hair: {
      style,
      color: hairColor,
      hairline: -0.58 - 0.16 * t.hairline - 0.1 * Math.max(0, t.age - 0.6),
      volume: style === "buzz" ? 0.015 : 0.04 + 0.14 * t.hairVolume,
      part: (t.hairPart - 0.5) * 0.7,
      fringe: style !== "buzz" && style !== "bald" && Math.abs(t.hairPart - 0.5) < 0.1,
    },
    facialHair: { kind: facialHair(t), density: 0.3 + 0.6 * t.beard },
    glasses: glassesOn
      ? {
          shape: t.glassesShape < 0.5 ? "round" : "square",
          frame: t.glassesShape > 0.75 ? [150, 150, 160] : shade(along(HAIR, t.glassesTint), 0.6),
          tint: t.glassesTint > 0.8 ? 0.5 : 0.08,
          thickness: 0.012 + 0.02 * t.glassesShape,
        }
      : null,
    age: t.age,
    freckles: t.freckles > 0.75 ? (t.freckles - 0.75) * 4 : 0,
  };
}
