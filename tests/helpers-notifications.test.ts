import { describe, expect, it } from "vitest";
import { sendAndLogNotification, sendNotification } from "../helpers/index.ts";
import { commandWorks } from "./support/command-works.ts";

const hasNotifySend = commandWorks("sh", ["-c", "command -v notify-send"]);

describe("sendNotification", () => {
  it("never throws; without a notification tool it says why", async () => {
    const result = await sendNotification({ title: "t", message: "m", urgency: "low", timeout: 1 });
    expect(typeof result.delivered).toBe("boolean");
    if (process.platform === "linux" && !hasNotifySend) {
      expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/^not found: notify-send \(no desktop notification tool/) });
    }
    const logged = await sendAndLogNotification({ title: "t", message: "m" });
    expect(logged.delivered).toBe(result.delivered);
  });
});
