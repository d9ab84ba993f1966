import { test } from "node:test";
import assert from "node:assert/strict";
import {
  commonGlobals,
  isTuple,
  PickleError,
  PickleGlobal,
  unpickle,
  type GlobalHandler,
} from "../../src/io/pickle.js";

const hex = (s: string): Uint8Array => Buffer.from(s.replace(/\s+/g, ""), "hex");

// pickle.dumps(OBJ, protocol=N) from CPython, where
// shared = ["x", "y"]
// OBJ = {"ints": [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**53, 2**64, -(2**70)], "float": -1.25,
//        "none": None, "flags": (True, False), "text": "h\u00e9llo \u2603", "bytes": b"\x00\xffab", "nobytes": b"",
//        "empty": ((), [], {}), "nested": {"k": [1.5]}, "shared": shared, "shared_again": shared, "set": {3},
//        "frozen": frozenset({4}), "od": collections.OrderedDict([("b", 1), ("a", 2)])}
const PROTOCOLS: Record<number, string> = {
  2:
    "80027d7100285804000000696e747371015d7102284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500000080" +
    "008a07000000000000208a090000000000000000018a090000000000000000c0655805000000666c6f6174710347bff4000000000000" +
    "58040000006e6f6e6571044e5805000000666c616773710588898671065804000000746578747107580a00000068c3a96c6c6f20e298" +
    "837108580500000062797465737109635f636f646563730a656e636f64650a710a580500000000c3bf6162710b58060000006c617469" +
    "6e31710c86710d52710e58070000006e6f6279746573710f635f5f6275696c74696e5f5f0a62797465730a7110295271115805000000" +
    "656d7074797112295d71137d711487711558060000006e657374656471167d711758010000006b71185d7119473ff800000000000061" +
    "735806000000736861726564711a5d711b28580100000078711c580100000079711d65580c0000007368617265645f616761696e711e" +
    "681b5803000000736574711f635f5f6275696c74696e5f5f0a7365740a71205d71214b0361857122527123580600000066726f7a656e" +
    "7124635f5f6275696c74696e5f5f0a66726f7a656e7365740a71255d71264b046185712752712858020000006f64712963636f6c6c65" +
    "6374696f6e730a4f726465726564446963740a712a2952712b28580100000062712c4b01580100000061712d4b0275752e",
  3:
    "80037d7100285804000000696e747371015d7102284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500000080" +
    "008a07000000000000208a090000000000000000018a090000000000000000c0655805000000666c6f6174710347bff4000000000000" +
    "58040000006e6f6e6571044e5805000000666c616773710588898671065804000000746578747107580a00000068c3a96c6c6f20e298" +
    "837108580500000062797465737109430400ff6162710a58070000006e6f6279746573710b4300710c5805000000656d707479710d29" +
    "5d710e7d710f87711058060000006e657374656471117d711258010000006b71135d7114473ff8000000000000617358060000007368" +
    "6172656471155d7116285801000000787117580100000079711865580c0000007368617265645f616761696e71196816580300000073" +
    "6574711a636275696c74696e730a7365740a711b5d711c4b036185711d52711e580600000066726f7a656e711f636275696c74696e73" +
    "0a66726f7a656e7365740a71205d71214b046185712252712358020000006f64712463636f6c6c656374696f6e730a4f726465726564" +
    "446963740a7125295271262858010000006271274b0158010000006171284b0275752e",
  4:
    "80049545010000000000007d94288c04696e7473945d94284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500" +
    "000080008a07000000000000208a090000000000000000018a090000000000000000c0658c05666c6f61749447bff40000000000008c" +
    "046e6f6e65944e8c05666c61677394888986948c0474657874948c0a68c3a96c6c6f20e29883948c05627974657394430400ff616294" +
    "8c076e6f6279746573944300948c05656d70747994295d947d9487948c066e6573746564947d948c016b945d94473ff8000000000000" +
    "61738c06736861726564945d94288c0178948c017994658c0c7368617265645f616761696e9468168c03736574948f94284b03908c06" +
    "66726f7a656e94284b0491948c026f64948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0162" +
    "944b018c0161944b0275752e",
  5:
    "80059545010000000000007d94288c04696e7473945d94284b004b014affffffff4bff4d00014dffff4a000001004a000000808a0500" +
    "000080008a07000000000000208a090000000000000000018a090000000000000000c0658c05666c6f61749447bff40000000000008c" +
    "046e6f6e65944e8c05666c61677394888986948c0474657874948c0a68c3a96c6c6f20e29883948c05627974657394430400ff616294" +
    "8c076e6f6279746573944300948c05656d70747994295d947d9487948c066e6573746564947d948c016b945d94473ff8000000000000" +
    "61738c06736861726564945d94288c0178948c017994658c0c7368617265645f616761696e9468168c03736574948f94284b03908c06" +
    "66726f7a656e94284b0491948c026f64948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0162" +
    "944b018c0161944b0275752e",
};

function checkObj(obj: unknown, protocol: number): void {
  assert.ok(obj instanceof Map, `protocol ${protocol}: a dict becomes a Map`);
  const get = (k: string): unknown => obj.get(k);
  assert.deepEqual(get("ints"), [
    0,
    1,
    -1,
    255,
    256,
    65535,
    65536,
    -(2 ** 31),
    2 ** 31,
    2n ** 53n,
    2n ** 64n,
    -(2n ** 70n),
  ]);
  assert.equal(get("float"), -1.25);
  assert.equal(get("none"), null);
  assert.deepEqual(get("flags"), [true, false]);
  assert.ok(isTuple(get("flags")));
  assert.ok(!isTuple(get("ints")));
  assert.equal(get("text"), "h\u00e9llo \u2603");
  assert.deepEqual([...(get("bytes") as Uint8Array)], [0, 255, 97, 98]);
  assert.ok(get("nobytes") instanceof Uint8Array && (get("nobytes") as Uint8Array).length === 0);
  const empty = get("empty") as unknown[];
  assert.ok(isTuple(empty) && empty.length === 3);
  assert.ok(isTuple(empty[0]) && (empty[0] as unknown[]).length === 0);
  assert.ok(Array.isArray(empty[1]) && !isTuple(empty[1]) && (empty[1] as unknown[]).length === 0);
  assert.ok(empty[2] instanceof Map && empty[2].size === 0);
  assert.deepEqual(get("nested"), new Map([["k", [1.5]]]));
  assert.deepEqual(get("shared"), ["x", "y"]);
  assert.equal(get("shared"), get("shared_again"), "the memo gives back the same object");
  assert.deepEqual(get("set"), new Set([3]));
  assert.deepEqual(get("frozen"), new Set([4]));
  assert.deepEqual(
    [...(get("od") as Map<string, number>)],
    [
      ["b", 1],
      ["a", 2],
    ],
  );
}

for (const protocol of [2, 3, 4, 5]) {
  test(`protocol ${protocol}: plain data decodes to the Python values`, () => {
    checkObj(unpickle(hex(PROTOCOLS[protocol]!), { globals: commonGlobals }), protocol);
  });
}

test("protocol 5: bytearray (BYTEARRAY8) is a copy of the bytes", () => {
  // pickle.dumps({"ba": bytearray(b"\x01\x02\x03")}, protocol=5)
  const data = hex("80059516000000000000007d948c0262619496030000000000000001020394732e");
  const obj = unpickle(data) as Map<string, Uint8Array>;
  assert.deepEqual([...obj.get("ba")!], [1, 2, 3]);
  obj.get("ba")![0] = 9;
  assert.equal(data[27], 1, "mutating the bytearray leaves the input alone");
});

test("a Python 2 verification-pack style pickle written byte by byte", () => {
  // ([b"abc", b"\xff\xd8\x80\xe0", <memo 1000 = b"abc">], [True, False, True]) with py2 str opcodes
  const data = hex(`
    80 02
    5d 71 00 28
      55 03 616263 72 e8030000
      54 04000000 ffd880e0 71 02
      6a e8030000
    65
    5d 71 03 28 88 89 88 65
    86 71 04 2e`);
  const [bins, issame] = unpickle(data) as [Uint8Array[], boolean[]];
  assert.equal(bins.length, 3);
  assert.deepEqual([...bins[0]!], [0x61, 0x62, 0x63]);
  assert.deepEqual([...bins[1]!], [0xff, 0xd8, 0x80, 0xe0]);
  assert.equal(bins[2], bins[0]);
  assert.deepEqual(issame, [true, false, true]);
  const asText = unpickle(data, { py2Strings: "latin1" }) as [string[], boolean[]];
  assert.equal(asText[0][0], "abc");
  assert.equal(asText[0][1], "\u00ff\u00d8\u0080\u00e0", "latin-1, not windows-1252");
});

// A minimal numpy reader, the way a verification-pack reader would plug one in through the allow-list.
interface FakeArray {
  shape?: number[];
  dtype?: string;
  data?: Uint8Array;
}
const numpyGlobals: Record<string, GlobalHandler> = {
  ...commonGlobals,
  "numpy.ndarray": {},
  "numpy.core.multiarray._reconstruct": {
    call: ([cls]) => {
      assert.ok(cls instanceof PickleGlobal && cls.qualifiedName === "numpy.ndarray");
      return {} as FakeArray;
    },
    build: (obj, state) => {
      const [, shape, dtype, , data] = state as [number, number[], { descr: string }, boolean, Uint8Array];
      Object.assign(obj as FakeArray, { shape: [...shape], dtype: dtype.descr, data });
    },
  },
  "numpy.dtype": { call: ([descr]) => ({ descr }), build: () => {} },
};

// pickle.dumps((np.array([[1, 2, 3], [4, 5, 250]], dtype=np.uint8), [True, False]), protocol=N), numpy 1.24
const NUMPY: Record<number, string> = {
  2:
    "8002636e756d70792e636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e646172726179" +
    "0a71014b00857102635f636f646563730a656e636f64650a7103580100000062710458060000006c6174696e31710586710652710787" +
    "7108527109284b014b024b0386710a636e756d70790a64747970650a710b58020000007531710c898887710d52710e284b0358010000" +
    "007c710f4e4e4e4affffffff4affffffff4b007471106289680358070000000102030405c3ba71116805867112527113747114625d71" +
    "15288889658671162e",
  4:
    "80049598000000000000008c156e756d70792e636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c05" +
    "6e756d7079948c076e6461727261799493944b0085944301629487945294284b014b024b03869468038c0564747970659493948c0275" +
    "3194898887945294284b038c017c944e4e4e4affffffff4affffffff4b007494628943060102030405fa947494625d94288889658694" +
    "2e",
};

for (const protocol of [2, 4]) {
  test(`protocol ${protocol}: numpy arrays rebuild through caller handlers (REDUCE + BUILD)`, () => {
    const [arr, flags] = unpickle(hex(NUMPY[protocol]!), { globals: numpyGlobals }) as [FakeArray, boolean[]];
    assert.deepEqual(arr.shape, [2, 3]);
    assert.equal(arr.dtype, "u1");
    assert.deepEqual([...arr.data!], [1, 2, 3, 4, 5, 250]);
    assert.deepEqual(flags, [true, false]);
  });
}

test("persistent ids go through the caller's callback", () => {
  // a Pickler whose persistent_id maps "@x" to ("ext", "x"), dumping ["@a", "b", "@c"] at protocol 2
  const data = hex(
    "80025d7100285803000000657874710158010000006171028671035158010000006271046801580100000063710586710651652e",
  );
  const seen: unknown[] = [];
  const out = unpickle(data, {
    persistentLoad: (pid) => {
      seen.push(pid);
      return `loaded:${(pid as string[])[1]}`;
    },
  });
  assert.deepEqual(out, ["loaded:a", "b", "loaded:c"]);
  assert.deepEqual(seen, [
    ["ext", "a"],
    ["ext", "c"],
  ]);
  assert.throws(() => unpickle(data), /persistent id but no persistentLoad/);
});

test("a global outside the allow-list is rejected by name, and nothing runs", () => {
  // GLOBAL 'os system', ("echo hi",), REDUCE
  const osSystem = hex("8002636f730a73797374656d0a710058070000006563686f20686971018571025271032e");
  assert.throws(
    () => unpickle(osSystem, { globals: commonGlobals, source: "evil.pkl" }),
    (e: Error) => e instanceof PickleError && /^evil\.pkl: global 'os\.system' is not allowed/.test(e.message),
  );
  // STACK_GLOBAL 'builtins' 'eval' at protocol 4
  const evalCall = hex("80048c086275696c74696e73948c046576616c9493948c013194859452942e");
  assert.throws(() => unpickle(evalCall, { globals: commonGlobals }), /global 'builtins\.eval' is not allowed/);
  // even harmless constructors need the caller's consent
  assert.throws(() => unpickle(hex(PROTOCOLS[3]!)), /global 'builtins\.set' is not allowed/);
  // an allowed value-only global cannot be called
  assert.throws(
    () => unpickle(osSystem, { globals: { "os.system": {} } }),
    /os\.system is allowed only as a value, not as a callable/,
  );
  // inherited object properties are not an allow-list
  const proto = hex("80048c064f626a656374948c0b636f6e7374727563746f72949394292e");
  assert.throws(
    () => unpickle(proto, { globals: Object.create({ "Object.constructor": { call: () => 1 } }) }),
    /not allowed/,
  );
});

test("every truncation of a valid pickle is a clear error, never a hang or a wrong value", () => {
  for (const data of [hex(PROTOCOLS[2]!), hex(PROTOCOLS[4]!), hex(NUMPY[4]!)]) {
    for (let n = 0; n < data.length; n++) {
      assert.throws(
        () => unpickle(data.subarray(0, n), { globals: numpyGlobals, source: "cut.pkl" }),
        (e: Error) => e instanceof PickleError && /^cut\.pkl: truncated data/.test(e.message),
        `prefix of ${n} bytes`,
      );
    }
  }
  // a length far beyond the data fails before allocating it
  assert.throws(() => unpickle(hex("80048e0000000000010000")), /truncated data: needs 1099511627776 more bytes/);
});

test("malformed input gives errors that say what is wrong", () => {
  assert.throws(() => unpickle(hex("80062e")), /unsupported pickle protocol 6/);
  assert.throws(() => unpickle(hex("8002ff")), /unknown opcode/);
  assert.throws(() => unpickle(hex("800268052e")), /memo entry 5 was never stored/);
  assert.throws(() => unpickle(hex("8002652e")), /no MARK to pop to/);
  assert.throws(() => unpickle(hex("80022e")), /stack underflow/);
  assert.throws(() => unpickle(hex("80024b014b02612e")), /cannot append to a number/);
});
