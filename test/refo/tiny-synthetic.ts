// The smallest refo run: tiny synthetic data (the data section of tiny test configs) and tiny models, trained for
// two steps, in one thread; tests spread it and change what they test.
export const TINY_SYNTHETIC = {
  synthetic: {
    identities: 4,
    imagesPerIdentity: 4,
    unlabeledIdentities: 4,
    unlabeledImagesPerIdentity: 4,
    pairs: 20,
    testIdentities: 4,
    idIdentities: 16,
    imageSize: 32,
  },
};

export const TINY_RUN = {
  threads: 1,
  workers: 0,
  data: TINY_SYNTHETIC,
  embeddingSize: 16,
  teacher: { model: "mbf-w0.5@32", steps: 2, batchSize: 8 },
  student: { model: "mbf-w0.25@32", steps: 2, batchSize: 8 },
  refoPlus: { enabled: false },
  evaluation: { idSample: 12, idRepetitions: 2, batchSize: 16 },
};
