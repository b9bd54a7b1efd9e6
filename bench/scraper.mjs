// Scrapes a URL N times one after another and prints each latency in ms (one JSON array). The
// bench runs it at a raised priority, as a stand-in for a Prometheus on another machine: on a
// 2-core box under full load, a scraper at the workers' priority waits for a core like they do.
import http from "node:http";

const [url, count] = process.argv.slice(2);
const get = () =>
  new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => res.resume().on("end", resolve)).on("error", reject);
  });
const times = [];
for (let i = 0; i < Number(count); i++) {
  const t0 = performance.now();
  await get();
  times.push(performance.now() - t0);
}
process.stdout.write(JSON.stringify(times));
