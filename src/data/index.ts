// Face datasets: insightface RecordIO packs and verification packs, image folders and list files, the synthetic
// identity generator, decoding and transforms, five-point face alignment, and the training data loader.
export { DataError, CorruptRecordError, type CorruptPolicy } from "./errors.js";
export type { FaceSource, FaceSample, SourceSpec } from "./source.js";
export { openDataset, openSource, type OpenOptions } from "./open.js";
export { RecDataset, type RecOpenOptions } from "./recordio/rec-dataset.js";
export { RecWriter, type RecWriterOptions } from "./recordio/rec-writer.js";
export { readProperty, writeProperty, type PackProperty } from "./recordio/property.js";
export { readVerificationPack, type VerificationPack } from "./verification/bin-reader.js";
export { writeVerificationPack, type WritePackOptions } from "./verification/bin-writer.js";
export { FilesSource, openLabeledFolder, openUnlabeledFolder, openListFile, IMAGE_EXTENSIONS } from "./folder.js";
export { MemorySource } from "./memory.js";
export {
  decodeImage,
  decodeJpegSync,
  jpegSize,
  resizeImage,
  encodeJpeg,
  encodePng,
  type RgbImage,
  type DecodeOptions,
} from "./codec.js";
export { arcfaceTemplate, FIVE_POINT_NAMES, type Point } from "./align/template.js";
export { estimateSimilarity, transformPoint, invertAffine, type AffineMatrix } from "./align/similarity.js";
export { warpAffine, alignFace, alignmentMatrix } from "./align/warp.js";
export {
  IJB_TARGETS,
  readIjbRelease,
  readAlignedIjbFaces,
  ijbLandmarks,
  type IjbRelease,
  type IjbTarget,
} from "./ijb.js";
export { fivePointsFrom68, type FaceDetector, type DetectedFace } from "./align/detector.js";
export { faceApiDetector, type FaceApiOptions } from "./align/face-api.js";
export {
  alignPhoto,
  type AlignPhotoOptions,
  type AlignedPhoto,
  type AlignSkip,
  type SkipReason,
} from "./align/align-photo.js";
export {
  alignFolder,
  alignReportPath,
  formatAlignSummary,
  type AlignFolderOptions,
  type AlignRecord,
  type AlignSummary,
} from "./align/align-folder.js";
export { listPhotos, listIdentities, type PhotoEntry } from "./align/list-photos.js";
export { imagesToTensor, decodeBatch, type BatchLayout } from "./transforms.js";
export { FaceLoader, type LoaderOptions, type Batch } from "./loader/loader.js";
export type { LoaderPosition } from "./loader/plan.js";
export { packFolder, packDataset, type PackOptions, type PackSummary } from "./pack.js";
export { datasetInfo, formatDatasetInfo, type DatasetInfo, type InfoOptions } from "./info.js";
export { verifyDataset, type VerifyOptions, type VerifyReport } from "./verify.js";
export { sampleGrid } from "./grid.js";
export { Rng, deriveSeed } from "./rng.js";
export { generateSyntheticDataset, type SyntheticOptions, type SyntheticSummary } from "./synthetic/generate.js";
export { TRAITS as SYNTHETIC_TRAITS } from "./synthetic/identity.js";
