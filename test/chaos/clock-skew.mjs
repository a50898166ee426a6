// TEST ONLY: preloaded into a chaos-test node process (NODE_OPTIONS=--import …/clock-skew.mjs) to put its
// wall clock DESTRA_CHAOS_CLOCK_SKEW_MS off: Date.now() and `new Date()` shift, monotonic time
// (performance.now, timers) does not, as on a machine whose NTP is off. A network namespace does not
// virtualise the clock, and libfaketime's LD_PRELOAD would also shift the monotonic clocks libuv uses.
const skew = Number(process.env.DESTRA_CHAOS_CLOCK_SKEW_MS ?? 0);
if (!Number.isFinite(skew)) throw new Error(`DESTRA_CHAOS_CLOCK_SKEW_MS=${process.env.DESTRA_CHAOS_CLOCK_SKEW_MS} is not a number of milliseconds`);
if (skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + skew);
      else super(...args);
    }
    static now() {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
