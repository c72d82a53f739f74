// mulberry32: a tiny, fast seeded generator, shared by the playground pages so that a
// link replays the same data, weights and batches. seededRandom(seed)() is in [0, 1).
"use strict";

window.seededRandom = function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
