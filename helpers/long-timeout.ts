/** setTimeout's largest delay; a longer one fires after 1 ms. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

/**
 * setTimeout for any delay: one longer than 2^31 − 1 ms (24.8 days) waits in
 * steps instead of firing at once (issue 10.11); Infinity never fires.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout | undefined;
  const due = Date.now() + ms;
  const arm = (left: number) => {
    if (!(left < Infinity)) return;
    timer = setTimeout(() => {
      const rest = due - Date.now();
      if (rest > 0 && left > MAX_DELAY_MS) arm(rest);
      else fn();
    }, Math.max(0, Math.min(left, MAX_DELAY_MS)));
  };
  arm(Number.isNaN(ms) ? 0 : ms);
  return { clear: () => clearTimeout(timer) };
}
