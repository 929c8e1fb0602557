/**
 * What loading a task needs from whoever imports its bundle to read its
 * schedules: a port, implemented by run/bundle-inspector.ts (in worker
 * threads, never on the host's own thread). Failures carry the registered
 * codes ERR_TASK_IMPORT (the task's import threw, exited or hung) and
 * ERR_INSPECTOR_STOPPED (cut off by the host stopping: not the task's fault).
 */
import type { MethodSchedule } from "../schedule/schedule-spec.ts";

export interface InspectResult {
  schedules: MethodSchedule[];
  methods: string[];
}

export interface BundleInspector {
  inspect(bundlePath: string): Promise<InspectResult>;
  /** Ends the workers; pending inspections reject. Safe to call twice. */
  dispose(): Promise<void>;
}
