import { useEffect, useRef, useState, type RefObject } from 'react';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';

export const STATS_INTERVAL_MS = 2000;

/** Whether the element is on screen; polling stops for cards scrolled away. */
export function useVisible<T extends Element>(): [RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [visible, setVisible] = useState(true);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver(([entry]) => setVisible(entry.isIntersecting));
    io.observe(el);
    return () => io.disconnect();
  }, []);
  return [ref, visible];
}

/** Samples `workload.stats` every 2 s while `active` (running and visible) and the page is shown. */
export function useStatsPolling(ref: string, active: boolean): void {
  const { api } = useApi();
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (document.visibilityState === 'visible') {
        const res = await api.invoke('workload.stats', { ref });
        if (stopped) return;
        if (res.ok) useLattice.getState().addStats(res.value);
      }
      if (!stopped) timer = setTimeout(tick, STATS_INTERVAL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, ref, active]);
}
