// Open-loop arrivals: `fire` is called at a mean `rate` a second (Poisson: exponential gaps) for
// `seconds`, whatever the server does, then `done` once. A late timer fires what is due at once.
export function arrivals(rate, seconds, fire, done) {
  const end = performance.now() + seconds * 1000;
  let next = performance.now();
  const schedule = () => {
    const now = performance.now();
    while (next <= now && now < end) {
      fire();
      next += -Math.log(1 - Math.random()) * (1000 / rate);
    }
    if (now < end) setTimeout(schedule, Math.max(0, next - now));
    else done();
  };
  schedule();
}
