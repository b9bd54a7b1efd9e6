// The HTTP edge cases: the bytes a client sends, how it behaves after them, what bare node:http
// answers, and the worker types they are tried on (test/integration/http-edge.test.mjs).
import assert from "node:assert/strict";
import { request, waitFor } from "./harness.mjs";

const CRLF = "\r\n";
export const get = (path = "/", extra = "") => `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}${extra}${CRLF}`;
const head = (path = "/") => `HEAD ${path} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`;
const post = (headers) => `POST /count HTTP/1.1${CRLF}Host: x${CRLF}${headers.map((h) => h + CRLF).join("")}${CRLF}`;
const chunked = post(["Transfer-Encoding: chunked"]);
const MB20 = 20 * 1024 * 1024;
const big = Buffer.alloc(1 << 20, 0x61);

/** Many 1 MiB writes of one body, so the upload streams rather than arriving in one piece. */
const bigParts = (prefix, chunkedEncoding) => {
  const parts = [prefix];
  for (let i = 0; i < MB20 / big.length; i++)
    parts.push(chunkedEncoding ? Buffer.concat([Buffer.from(`100000${CRLF}`), big, Buffer.from(CRLF)]) : big);
  if (chunkedEncoding) parts.push(`0${CRLF}${CRLF}`);
  return parts;
};

/**
 * Each case: the bytes, how the client behaves after them, and what bare Node answers (checked
 * too, so that the reference itself is what we think). `gpe` is a deliberate difference, with why;
 * `answered` is what a worker type that answers after a half-close (`answersHalfClosed`) gives.
 */
export const CASES = [
  { name: "two pipelined GETs", parts: [get() + get()], node: [200, 200] },
  {
    name: "three pipelined GETs, the first slow",
    parts: [get("/sleep?ms=100") + get() + get()],
    node: [200, 200, 200],
  },
  { name: "HEAD then GET, pipelined", parts: [head() + get()], bodiless: [0], node: [200, 200] },
  {
    name: "Expect: 100-continue, body after the interim answer",
    parts: [post(["Content-Length: 5", "Expect: 100-continue"]), "hello"],
    gapMs: 100,
    node: [100, 200],
  },
  { name: "chunked body in one write", parts: [`${chunked}5${CRLF}hello${CRLF}0${CRLF}${CRLF}`], node: [200] },
  {
    name: "chunked body with a trailer",
    parts: [`${chunked}5${CRLF}hello${CRLF}0${CRLF}X-Check: 1${CRLF}${CRLF}`],
    node: [200],
  },
  {
    name: "chunked body in slow chunks",
    parts: [chunked, `3${CRLF}abc${CRLF}`, `3${CRLF}def${CRLF}`, `0${CRLF}${CRLF}`],
    gapMs: 60,
    node: [200],
  },
  { name: "chunk size -5", parts: [`${chunked}-5${CRLF}hello${CRLF}0${CRLF}${CRLF}`], node: [400] },
  { name: "chunk size +5", parts: [`${chunked}+5${CRLF}hello${CRLF}0${CRLF}${CRLF}`], node: [400] },
  {
    name: "forbidden trailer field (Content-Length)",
    parts: [`${chunked}5${CRLF}hello${CRLF}0${CRLF}Content-Length: 5${CRLF}${CRLF}`],
    node: [400],
  },
  {
    name: "chunked body without its final CRLF, then half-close",
    parts: [`${chunked}5${CRLF}hello${CRLF}0${CRLF}`],
    after: "half-close",
    node: [400],
  },
  {
    name: "body cut short, then half-close",
    parts: [`${post(["Content-Length: 100"])}0123456789`],
    after: "half-close",
    node: [400],
  },
  { name: "second pipelined request without Host", parts: [`${get()}GET / HTTP/1.1${CRLF}${CRLF}`], node: [200, 400] },
  {
    name: "20 MB upload with Content-Length",
    parts: bigParts(post([`Content-Length: ${MB20}`]), false),
    node: [200],
    body: `received ${MB20}`,
  },
  { name: "20 MB chunked upload", parts: bigParts(chunked, true), node: [200], body: `received ${MB20}` },
  { name: "half-close after a complete request", parts: [get()], after: "half-close", node: [200] },
  // Node closes its side when the client half-closes: only an answer already written gets out.
  {
    name: "half-close after a slow request",
    parts: [get("/sleep?ms=100")],
    after: "half-close",
    node: [],
    answered: [200],
    why: "a thread may queue a complete request behind another; it answers what the client sent, as gthread does",
    // A loop held past the sleep by the cases running beside it fires the timer before it reads
    // the half-close, so the answer gets out; bare Node's would too.
    late: [200],
  },
  { name: "truncated head, then half-close", parts: [`GET / HTTP/1.1${CRLF}Ho`], after: "half-close", node: [400] },
  {
    name: "Content-Length and Transfer-Encoding together (smuggling)",
    parts: [`${post(["Content-Length: 5", "Transfer-Encoding: chunked"])}0${CRLF}${CRLF}`],
    node: [400],
  },
  {
    name: "two different Content-Lengths",
    parts: [`${post(["Content-Length: 5", "Content-Length: 6"])}hello!`],
    node: [400],
  },
  {
    name: "Transfer-Encoding other than chunked last",
    parts: [`${post(["Transfer-Encoding: chunked, gzip"])}0${CRLF}${CRLF}`],
    node: [400],
  },
  { name: "one header field of 20 KiB", parts: [get("/", `X-Big: ${"b".repeat(20 * 1024)}${CRLF}`)], node: [431] },
  {
    name: "200 small header fields",
    parts: [get("/", Array.from({ length: 200 }, (_, i) => `X-F${i}: v${CRLF}`).join(""))],
    node: [200],
    gpe: [431],
    why: "gunicorn's limit_request_fields (100 by default)",
  },
  {
    name: "request line of 5000 bytes",
    parts: [get(`/${"a".repeat(5000)}`)],
    node: [200],
    gpe: [414],
    why: "gunicorn's limit_request_line (4094 by default)",
  },
  { name: "garbage instead of a request line", parts: [`\x16\x03\x01 hello${CRLF}${CRLF}`], node: [400] },
];

/** The answers a worker type may give, given bare Node's: the first is the usual one. */
export function expected(target, c, reference) {
  const usual = (target.answersHalfClosed ? c.answered : undefined) ?? c.gpe ?? reference;
  return (c.late ? [usual, c.late] : [usual]).map((statuses) => firstResponses(target, statuses));
}

function firstResponses(target, statuses) {
  if (!target.onePerConnection) return statuses;
  // gunicorn's sync worker: one request per connection; what Node answers first (after an interim 100).
  const end = statuses.findIndex((s) => s >= 200);
  return end < 0 ? statuses : statuses.slice(0, end + 1);
}

export const TARGETS = [
  { name: "async", args: ["-k", "async"] },
  { name: "sync", args: ["-k", "sync"], onePerConnection: true },
  { name: "sync with --keep-alive", args: ["-k", "sync", "--keep-alive", "2"] },
  { name: "thread", args: ["-k", "thread", "--threads", "2"], answersHalfClosed: true },
];

/** Every worker of `s` is idle by its own count, answers at once, and none was replaced. */
export async function assertIdleAndServing(s, pidsBefore) {
  await waitFor(
    async () => {
      const m = await s.scrape();
      const inFlight = m.find("gunicorn_worker_requests_in_flight");
      return inFlight.length === 2 && inFlight.every((x) => x.value === 0);
    },
    { timeout: 5000, what: "every worker to show 0 in flight" },
  );
  const answers = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const t0 = Date.now();
      const res = await request(s.url("/pid"), { timeout: 3000 });
      return { status: res.status, ms: Date.now() - t0 };
    }),
  );
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.ok(a.ms < 1000, `a request took ${a.ms} ms`);
  }
  assert.deepEqual(s.workerPids(), pidsBefore, "no worker was replaced");
  const m = await s.scrape();
  assert.equal(m.sum("gunicorn_master_worker_restarts_total"), 0);
}

/** Pieces of requests, valid and not, from which the randomized test builds its connections. */
export const FRAGMENTS = [
  get(),
  get("/sleep?ms=5"),
  head(),
  get("/count"),
  `${post(["Content-Length: 5"])}hello`,
  `${chunked}5${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
  `${post(["Content-Length: 5", "Expect: 100-continue"])}hello`,
  `${chunked}-5${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
  `${post(["Content-Length: 5", "Transfer-Encoding: chunked"])}0${CRLF}${CRLF}`,
  `GET / HTTP/1.1${CRLF}${CRLF}`,
  `\x16\x03\x01 hello${CRLF}${CRLF}`,
  `GET / HTTP/1.1${CRLF}Ho`,
  `${post(["Content-Length: 100"])}0123456789`,
  get("/", `X-Big: ${"b".repeat(20 * 1024)}${CRLF}`),
];

/** A small seeded generator (mulberry32): the same seed builds the same connections. */
export function seeded(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)] };
}

/** One random connection: 1-4 fragments, cut at random bytes, sent with small gaps, left at random. */
export function randomConnection(rng) {
  const bytes = Buffer.from(Array.from({ length: 1 + rng.int(4) }, () => rng.pick(FRAGMENTS)).join(""), "latin1");
  const cuts = Array.from({ length: rng.int(4) }, () => rng.int(bytes.length)).sort((a, b) => a - b);
  const parts = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) parts.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  const after = rng.pick(["read", "half-close", "hangup"]);
  return { parts, gapMs: rng.int(10), after, hangupMs: rng.int(30), quietMs: 100, timeoutMs: 3000 };
}
