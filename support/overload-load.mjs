// An open-loop load with a client deadline, for the overload tests and bench scenario: requests
// arrive at a fixed rate (Poisson) whatever the server does, each on a new connection, and a client
// gives up on an answer after DEADLINE ms, as users and upstream proxies do. Reports what arrived
// in time, and the 503s (with whether each said Retry-After).
//   node support/overload-load.mjs URL RATE SECONDS DEADLINE_MS   -> one JSON line on stdout
import http from "node:http";
import { arrivals } from "./arrivals.mjs";

const [url, rate, seconds, deadline] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const ok = [];
const shed = [];
let late = 0;
let shedWithoutRetry = 0;
let timedOut = 0;
let errors = 0;
let sent = 0;
let open = 0;

function fire() {
  sent++;
  open++;
  const t0 = performance.now();
  let done = false;
  const end = (record) => {
    if (done) return;
    done = true;
    open--;
    record(performance.now() - t0);
  };
  const req = http.get(url, { agent: false, headers: { connection: "close" } }, (res) => {
    res.resume();
    res.on("end", () =>
      end((ms) => {
        if (res.statusCode === 503) {
          shed.push(ms);
          if (res.headers["retry-after"] === undefined) shedWithoutRetry++;
        }
        else if (res.statusCode !== 200) errors++;
        else if (ms > deadline) late++;
        else ok.push(ms);
      }),
    );
  });
  req.setTimeout(deadline, () => {
    req.destroy();
    end(() => timedOut++);
  });
  req.on("error", () => end(() => errors++));
}


const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : Number.NaN;
};

function finish() {
  const wait = () => {
    if (open > 0) return setTimeout(wait, 20);
    console.log(
      JSON.stringify({
        sent,
        ok: ok.length,
        goodput: ok.length / seconds,
        okP99: pct(ok, 0.99),
        shed: shed.length,
        shedP50: pct(shed, 0.5),
        shedP99: pct(shed, 0.99),
        shedWithoutRetry,
        late,
        timedOut,
        errors,
      }),
    );
    process.exit(0);
  };
  wait();
}

arrivals(rate, seconds, fire, finish);
