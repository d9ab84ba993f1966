import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../src/torch/index.js";
import { decodeBatch, type MemorySource } from "../../src/data/index.js";
import { createModel, type Backbone } from "../../src/models/index.js";

import { syntheticSource } from "../train/synthetic.js";
import { readNpy, NpyRows, NpyRowsWriter } from "../../src/io/index.js";
import { extractEmbeddings } from "../../src/infer/index.js";

torch.setNumThreads(1);
let root: string;
let source: MemorySource;
let model: Backbone;

// the model's embeddings of every image, computed directly (in eval mode), optionally plus those of the mirrors
async function direct(flipSum: boolean): Promise<torch.Tensor> {
  const images = source.spec().images;
  const plain = await decodeBatch(images, [32, 32]);
  const mirrored = await decodeBatch(images, [32, 32], { flip: true });
  model.eval();
  const out = torch.noGrad(() =>
    torch.tidy(() => (flipSum ? model.forward(plain).add(model.forward(mirrored)) : model.forward(plain))),
  );
  model.train();
  plain.dispose();
  mirrored.dispose();
  return out;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), "facekd-embed-"));
  source = await syntheticSource({ classes: 3, perClass: 4 }); // 12 samples
  torch.manualSeed(3);
  model = createModel("mbf", { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 8 });
});
after(() => {
  model.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe("extractEmbeddings", () => {
  for (const flipSum of [false, true]) {
    test(`equals a direct forward pass${flipSum ? " with flip-sum" : ""}, streamed in uneven batches`, async () => {
      const out = join(root, `emb-${flipSum}.npy`);
      const result = await extractEmbeddings(model, source, { out, batchSize: 5, flipSum, workers: 0 });
      assert.equal(result.count, 12);
      assert.equal(result.dim, 8);
      assert.equal(model.training, true, "the model's mode is given back");
      torch.tidy(() => {
        const written = readNpy(out); // the streamed file is a plain .npy
        assert.deepEqual(written.shape, [12, 8]);
        assert.equal(written.dtype, "float32");
      });
      const expected = await direct(flipSum);
      torch.tidy(() => assert.ok(torch.allclose(readNpy(out), expected, 1e-4, 1e-5)));
      expected.dispose();
      torch.tidy(() => assert.deepEqual(readNpy(result.labels).toNumbers(), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]));
      const info = JSON.parse(readFileSync(result.info, "utf8"));
      assert.equal(info.flipSum, flipSum);
      assert.equal(info.count, 12);
      assert.ok(!existsSync(`${out}.partial`));
    });
  }
});

describe("NpyRows", () => {
  test("reads row ranges and gathers rows by index without loading the file", () => {
    const file = join(root, "rows.npy");
    torch.tidy(() => {
      const table = torch
        .arange(0, 7 * 3)
        .float()
        .view([7, 3]);
      // two writers (as two ranks would) fill their row ranges out of order
      NpyRowsWriter.create(file, "float32", [7, 3]);
      const [a, b] = [new NpyRowsWriter(file), new NpyRowsWriter(file)];
      b.write(4, table.narrow(0, 4, 3));
      a.write(0, table.narrow(0, 0, 4));
      a.close();
      b.close();
      assert.ok(!existsSync(file), "no file under its name before commit");
      NpyRowsWriter.commit(file);
      const rows = new NpyRows(file);
      try {
        assert.equal(rows.count, 7);
        assert.equal(rows.dim, 3);
        assert.deepEqual(rows.rows(2, 5).toNumbers(), table.narrow(0, 2, 3).flatten().toNumbers());
        const gathered = rows.gather(torch.tensor([6, 0, 3], { dtype: "int64" }));
        assert.deepEqual(gathered.shape, [3, 3]);
        assert.deepEqual(gathered.toNumbers(), [18, 19, 20, 0, 1, 2, 9, 10, 11]);
        assert.throws(() => rows.gather(torch.tensor([7], { dtype: "int64" })), /sample index 7 is outside the 7 rows/);
        assert.throws(() => rows.rows(5, 8), /outside/);
      } finally {
        rows.close();
      }
      assert.ok(torch.equal(readNpy(file), table));
    });
  });

  test("a writer refuses rows outside the declared ones or of another width; discard leaves no file", () => {
    const file = join(root, "short.npy");
    NpyRowsWriter.create(file, "float32", [5, 2]);
    const writer = new NpyRowsWriter(file);
    torch.tidy(() => {
      assert.throws(() => writer.write(3, torch.zeros([3, 2])), /rows \[3, 6\) are outside the 5 declared/);
      assert.throws(() => writer.write(0, torch.zeros([1, 3])), /rows must be \[B, 2\]/);
    });
    writer.close();
    NpyRowsWriter.discard(file);
    assert.ok(!existsSync(file) && !existsSync(`${file}.partial`));
    assert.throws(() => new NpyRows(join(root, "emb-false.labels.npy")), /expected C-order float32/);
  });
});
