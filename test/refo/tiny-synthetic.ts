// The smallest synthetic dataset a refo run can train and evaluate on: the data section of tiny test configs.
export const TINY_SYNTHETIC = {
  synthetic: {
    identities: 4,
    imagesPerIdentity: 4,
    unlabeledIdentities: 4,
    unlabeledImagesPerIdentity: 4,
    pairs: 20,
    testIdentities: 4,
    imageSize: 32,
  },
};
