// An open-loop load generator for the mixed-load scenario. wrk paces requests only by delaying
// them on connections it has already opened, so every paced "new connection" sits idle in a
// worker first, which is not what the scenario asks. This one opens each connection when its
// request is due (Poisson arrivals), sends every 100th request to the slow path, and reports the
// latency of fast and slow requests separately, from connect to the end of the response.
//   node bench/open-loop.mjs URL RATE SECONDS   -> one JSON line on stdout
import http from "node:http";
import { arrivals } from "../support/arrivals.mjs";

const [url, rate, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const SLOW_EVERY = 100;
const fast = [];
const slow = [];
let errors = 0;
let sent = 0;
let open = 0;

function fire() {
  const isSlow = ++sent % SLOW_EVERY === 0;
  const t0 = performance.now();
  open++;
  const req = http.get(
    `${url}${isSlow ? "/cpu?ms=100" : "/"}`,
    { agent: false, headers: { connection: "close" } },
    (res) => {
      res.resume();
      res.on("end", () => {
        open--;
        if (res.statusCode !== 200) errors++;
        else (isSlow ? slow : fast).push(performance.now() - t0);
      });
    },
  );
  req.on("error", () => {
    open--;
    errors++;
  });
}

function finish() {
  const deadline = performance.now() + 10_000;
  const wait = () => {
    if (open > 0 && performance.now() < deadline) return setTimeout(wait, 20);
    const pct = (xs, p) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN;
    };
    console.log(
      JSON.stringify({
        fast: fast.length,
        slow: slow.length,
        errors,
        unfinished: open,
        fastP50: pct(fast, 0.5),
        fastP99: pct(fast, 0.99),
        slowP99: pct(slow, 0.99),
        allP99: pct([...fast, ...slow], 0.99),
      }),
    );
    process.exit(0);
  };
  wait();
}

arrivals(rate, seconds, fire, finish);
