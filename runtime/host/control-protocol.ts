/** Requests over the control socket: one JSON object a line each way. */
export interface ControlRequest {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export type ControlResponse =
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } };
