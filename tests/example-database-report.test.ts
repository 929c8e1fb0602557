import { chmod, copyFile, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { REPO, TempProject } from "./support/temp-project.ts";
import { startSmtpReceiver, type SmtpReceiver } from "./support/receivers.ts";
import { waitFor } from "./support/wait-for.ts";
import { skipPostgres, startPostgres, type TestPostgres } from "./support/pg-cluster.ts";
import pg from "pg";
import type { RunJson } from "../runtime/host/report-shapes.ts";
import { pageLines, readPdf } from "./support/read-pdf.ts";

/**
 * The e-mail side of a real host, against a real SMTP server (smtp-server):
 * the database report example mails its .xlsx and CSV, and a failing task's
 * alert arrives by e-mail. The SMTP password comes from config/secrets.yaml.
 */
describe("e-mail: the database report and alert e-mails", () => {
  let smtp: SmtpReceiver;
  let project: TempProject;

  beforeAll(async () => {
    smtp = await startSmtpReceiver({ user: "reports", password: "pa55" });
    project = await TempProject.create({
      tasks: { include_example_tasks: true },
      alerts: {
        channels: { mail: { type: "email", to: ["oncall@example.com"] } },
        smtp: { host: "127.0.0.1", port: smtp.port, user: "reports", from: "taskhost@example.com" },
        rules: ["failure"],
      },
    });
    await writeFile(path.join(project.root, "config", "secrets.yaml"), stringify({ alerts: { smtp: { password: "pa55" } } }));
    await chmod(path.join(project.root, "config", "secrets.yaml"), 0o600);
    await writeFile(path.join(project.root, "config", "example_database_report.yaml"), stringify({ to: ["boss@example.com"], subject: "Weekly sales", days: 30 }));
    await copyFile(path.join(REPO, "tasks", "example_database_report.ts"), path.join(project.root, "tasks", "example_database_report.ts"));
    await project.writeTask(
      "nightly.ts",
      `/*\n---\ntitle: "Nightly export"\n---\n*/\nimport { repeat, every } from "taskhost";\nexport default class { @repeat(every().second) async start() { throw new Error("export server said 500"); } }\n`,
    );
    await project.start();
  });
  afterAll(async () => {
    await project?.cleanup();
    await smtp?.close();
  });

  it("the failing task's alert arrives by e-mail", async () => {
    const mail = await waitFor(() => smtp.mails.find((m) => m.subject === "[taskhost] failure: Nightly export"), { what: "the alert e-mail" });
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : "").toBe("oncall@example.com");
    expect(mail.text).toMatch(/^Nightly export \(nightly#start\) failed: Error: export server said 500/);
  });

  it("the report task queries, writes .xlsx, PDF and CSV, and mails them; each holds the query's rows", async () => {
    const result = await project.cli(["run", "example_database_report", "--json"]);
    const run = JSON.parse(result.stdout) as RunJson;
    expect(run.error).toBeNull();
    expect(run.status).toBe("success");
    expect(run.output).toContain("e-mailed to boss@example.com");

    const mail = await waitFor(() => smtp.mails.find((m) => m.subject?.startsWith("Weekly sales ")), { what: "the report e-mail" });
    expect(smtp.recipients[smtp.mails.indexOf(mail)]).toEqual(["boss@example.com"]);
    expect(mail.from?.text).toBe("taskhost@example.com");
    expect(mail.text).toMatch(/Last 30 days \(since \d{4}-\d{2}-\d{2}\): \d+ orders, revenue [\d.]+\./);
    const names = mail.attachments.map((a) => a.filename);
    expect(names).toEqual([
      expect.stringMatching(/^sales-\d{4}-\d{2}-\d{2}\.xlsx$/),
      expect.stringMatching(/^sales-\d{4}-\d{2}-\d{2}\.pdf$/),
      expect.stringMatching(/^sales-\d{4}-\d{2}-\d{2}\.csv$/),
    ]);

    // Open the attachment as Excel would, and read its rows back.
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(mail.attachments[0]!.content as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0]!;
    const cells: unknown[][] = [];
    sheet.eachRow((row) => cells.push((row.values as unknown[]).slice(1)));
    expect(cells[0]).toEqual(["region", "product", "orders", "revenue"]);
    expect(cells).toHaveLength(17); // 4 regions x 4 products, all 30 days of sample data
    for (const row of cells.slice(1)) {
      expect(["north", "south", "east", "west"]).toContain(row[0]);
      expect(typeof row[2]).toBe("number"); // numbers stay numbers
      expect(typeof row[3]).toBe("number");
    }
    // The same rows as the CSV attachment, and as the file written to data/reports/.
    const csv = mail.attachments[2]!.content.toString("utf8").trim().split("\r\n").map((l) => l.split(","));
    expect(csv.map((r) => r.join(","))).toEqual(cells.map((r) => r.join(",")));
    // And as PDF.js reads the PDF: the title, then the same rows in the same order.
    const pdf = await readPdf(mail.attachments[1]!.content);
    expect(pdf.title).toBe("Weekly sales");
    const lines = pdf.pages.flatMap((page) => pageLines(page.texts));
    expect(lines.slice(0, 2)).toEqual(["Weekly sales", expect.stringMatching(/^Last 30 days, since \d{4}-\d{2}-\d{2} \(16 rows\)$/)]);
    expect(lines.slice(2, 19)).toEqual(cells.map((r) => r.join(" ")));
    const orders = cells.slice(1).reduce((n, r) => n + (r[2] as number), 0);
    expect(orders).toBe(600); // 30 days x 20 sales
    const written = (await readdir(path.join(project.root, "data", "reports"))).sort();
    expect(written.some((f) => f.endsWith(".xlsx"))).toBe(true);
    const csvFile = written.find((f) => f.endsWith(".csv"))!;
    expect(await readFile(path.join(project.root, "data", "reports", csvFile), "utf8")).toBe(mail.attachments[2]!.content.toString("utf8"));
    expect(written.some((f) => f.endsWith(".pdf"))).toBe(true);
  });
  it("a value the PDF's font lacks costs the PDF only: the workbook and CSV are still written and mailed, and the run says why", async () => {
    await writeFile(
      path.join(project.root, "config", "example_database_report.yaml"),
      stringify({ to: ["boss@example.com"], subject: "Tokyo", query: "SELECT '東京' AS city, count(*) AS orders FROM sales WHERE day >= $1" }),
    );
    const run = JSON.parse((await project.cli(["run", "example_database_report", "--json"])).stdout) as RunJson;
    expect(run.status, run.error ?? "").toBe("success");
    expect(run.output).toMatch(/no PDF this time: taskhost helpers: toPdf: "東" \(U\+6771, in rows\[0\], column "city"\)/);
    const mail = await waitFor(() => smtp.mails.find((m) => m.subject?.startsWith("Tokyo ")), { what: "the report e-mail" });
    expect(mail.attachments.map((a) => path.extname(a.filename ?? ""))).toEqual([".xlsx", ".csv"]);
    expect(mail.attachments[1]!.content.toString("utf8")).toMatch(/^city,orders\r\n東京,\d+\r\n$/);
  });
});

/** The same report from PostgreSQL (database_url), on a throwaway cluster where the server binaries exist. */
describe.skipIf(skipPostgres)("e-mail: the database report from PostgreSQL", () => {
  let smtp: SmtpReceiver;
  let project: TempProject;
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startPostgres();
    const url = await server.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10,2) NOT NULL, placed date NOT NULL)");
    await client.query("INSERT INTO orders (customer, total, placed) VALUES ('acme', 120.50, current_date), ('globex', 99.99, current_date - 1), ('acme', 10, current_date - 40)");
    await client.end();
    smtp = await startSmtpReceiver();
    project = await TempProject.create({ tasks: { include_example_tasks: true }, alerts: { smtp: { host: "127.0.0.1", port: smtp.port } } });
    await writeFile(
      path.join(project.root, "config", "example_database_report.yaml"),
      stringify({
        database_url: url,
        query: "SELECT customer, count(*)::int AS orders, sum(total)::float AS revenue FROM orders WHERE placed >= $1::date GROUP BY customer ORDER BY customer",
        days: 7,
        to: ["boss@example.com"],
        subject: "Orders",
      }),
    );
    await copyFile(path.join(REPO, "tasks", "example_database_report.ts"), path.join(project.root, "tasks", "example_database_report.ts"));
    await project.start();
  });
  afterAll(async () => {
    await project?.cleanup();
    await smtp?.close();
    await server?.stop();
  });

  it("queries PostgreSQL with pg and mails the rows as .xlsx, PDF and CSV", async () => {
    const run = JSON.parse((await project.cli(["run", "example_database_report", "--json"])).stdout) as RunJson;
    expect(run.error).toBeNull();
    expect(run.status).toBe("success");
    const mail = await waitFor(() => smtp.mails.find((m) => m.subject?.startsWith("Orders ")), { what: "the report e-mail" });
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(mail.attachments[0]!.content as unknown as ArrayBuffer);
    const cells: unknown[][] = [];
    workbook.worksheets[0]!.eachRow((row) => cells.push((row.values as unknown[]).slice(1)));
    expect(cells).toEqual([
      ["customer", "orders", "revenue"],
      ["acme", 1, 120.5],
      ["globex", 1, 99.99],
    ]);
    expect(pageLines((await readPdf(mail.attachments[1]!.content)).pages[0]!.texts).slice(2, 5)).toEqual(["customer orders revenue", "acme 1 120.5", "globex 1 99.99"]);
    expect(mail.attachments[2]!.content.toString("utf8")).toBe("customer,orders,revenue\r\nacme,1,120.5\r\nglobex,1,99.99\r\n");
  });
});
