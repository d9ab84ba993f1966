// `facekd export`: a trained backbone as an ONNX file for deployment (onnxruntime, TensorRT, OpenVINO, the web).
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { exportOnnx, OPSETS, PRELU_FORMS, type PreluForm } from "../../models/index.js";
import { loadModel } from "../model-options.js";
import { choice, integerOption } from "../parse.js";

interface ExportFlags {
  model: string;
  embeddingSize?: number;
  out: string;
  opset: number;
  fp16?: boolean;
  batch: "dynamic" | number;
  prelu: PreluForm;
  json?: boolean;
}

function batchOption(value: string): "dynamic" | number {
  const n = Number(value);
  if (value === "dynamic" || (Number.isInteger(n) && n >= 1)) return value === "dynamic" ? value : n;
  throw new Error(`--batch must be 'dynamic' or an integer >= 1, got '${value}'`);
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("write a trained backbone as ONNX (batch norms folded, preprocessing in metadata_props)")
    .argument("<weights>", "checkpoint: a run's model.safetensors, an arcface_torch backbone.pth or an .onnx file")
    .requiredOption("--model <name>", "registered model name, such as mbf or mbf-w0.25@48 (see facekd models)")
    .option(
      "--embedding-size <n>",
      "embedding size the model was trained with (512)",
      integerOption("embedding-size", 1),
    )
    .requiredOption("--out <file.onnx>", "the ONNX file to write")
    .option(
      "--opset <n>",
      `ONNX operator set, ${OPSETS.min} to ${OPSETS.max}`,
      integerOption("opset", OPSETS.min),
      OPSETS.default,
    )
    .option("--fp16", "float16 weights and arithmetic (input and output stay float32)")
    .option("--batch <dynamic|n>", "a dynamic batch axis, or a fixed batch size", batchOption, "dynamic")
    .option(
      "--prelu <op|convs>",
      "PReLU as one PRelu node (any runtime), or as depthwise convolutions that onnxruntime's CPU provider fuses " +
        "(mbf 1.4-1.7x as fast at batch 1)",
      choice("prelu", PRELU_FORMS),
      "op",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd export runs/demo/stages/student-fo-refo/model.safetensors --model mbf-w0.25@48 " +
        "--embedding-size 128 --out student.onnx\n" +
        "  facekd export backbone.pth --model iresnet50 --out r50.onnx --opset 11 --batch 1\n" +
        "  facekd export backbone.pth --model mbf --out mbf-ort-cpu.onnx --prelu convs   # for onnxruntime on CPUs",
    )
    .action((weights: string, flags: ExportFlags) => {
      const model = loadModel({ model: flags.model, weights, embeddingSize: flags.embeddingSize });
      let result;
      try {
        mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
        const { opset, batch, prelu } = flags;
        result = exportOnnx(model, flags.out, { opset, fp16: flags.fp16 ?? false, batch, prelu });
      } finally {
        model.dispose();
      }
      if (flags.json) console.log(JSON.stringify(result, null, 2));
      else console.log(`${result.file}: ${result.nodes} nodes, opset ${result.opset}, ${result.bytes} bytes`);
    });
}
