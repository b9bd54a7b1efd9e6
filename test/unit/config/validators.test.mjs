// Validators with rules of their own: sizes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { size } from "../../../dist/config/validators.js";

describe("sizes", () => {
  it("reads bytes and K, M, G, T as powers of 1024", () => {
    assert.equal(size("512M", "max_memory"), 512 * 1024 ** 2);
    assert.equal(size("1.5G", "max_memory"), 1.5 * 1024 ** 3);
    assert.equal(size("300MB", "max_memory"), 300 * 1024 ** 2);
    assert.equal(size("4096", "max_memory"), 4096);
    assert.equal(size(0, "max_memory"), 0);
  });
  it("refuses anything else with the setting's name", () => {
    for (const bad of ["12XB", "-1M", "M", "1.2.3G", ""])
      assert.throws(() => size(bad, "max_memory"), /max_memory: expected a size such as 512M/);
  });
});
