// Plain HTTP of the bench: a GET that drains the answer, and waiting for a server to answer 200.
import http from "node:http";
import { sleep } from "../../support/processes.mjs";

export function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      })
      .on("error", reject);
  });
}

export async function until(url, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    try {
      if ((await get(url)) === 200) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}
