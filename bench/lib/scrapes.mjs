// Reading a server's metrics text (a family's sum, one series) and timing scrapes.
import { spawn } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { median } from "./stats.mjs";
import { get } from "./http.mjs";
import { HERE, SCRAPES } from "./settings.mjs";

/** Sum of a family's samples in a scrape. */
export function counterSum(url, name) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () =>
          resolve(
            body
              .split("\n")
              .filter((l) => l.startsWith(name))
              .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(" ") + 1)), 0),
          ),
        );
      })
      .on("error", reject);
  });
}

/** The value of one exact series (name and labels as printed) in a scrape. */
export async function gaugeValue(url, series) {
  const body = await new Promise((resolve, reject) =>
    http
      .get(url, (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve(b));
      })
      .on("error", reject),
  );
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : Number.NaN;
}

/** One scrape's latency in ms. */
export async function scrapeTime(url) {
  const t0 = performance.now();
  await get(url);
  return performance.now() - t0;
}
/** Median and p99 of latencies in ms. */
export function latencies(times) {
  const s = [...times].sort((a, b) => a - b);
  return { median: median(s), p99: s[Math.floor(s.length * 0.99)] };
}
export async function scrapeLatency(url, n = SCRAPES) {
  const times = [];
  for (let i = 0; i < n; i++) times.push(await scrapeTime(url));
  return latencies(times);
}
/** The same from a separate scraper at nice -10 (root only; null elsewhere): the server's part. */
export function raisedScrapeLatency(url, n = SCRAPES) {
  if (process.getuid?.() !== 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const child = spawn("nice", ["-n", "-10", process.execPath, join(HERE, "scraper.mjs"), url, String(n)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (out += d));
    child.on("close", (code) => resolve(code === 0 ? latencies(JSON.parse(out)) : null));
  });
}
