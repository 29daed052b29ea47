// Run with: ./capsule run examples/hello-ts/main.ts
import { task } from "@capsule-run/sdk";

export const analyze = task(
  { name: "analyze", compute: "LOW", ram: "64MB", timeout: "5s", maxRetries: 2 },
  (rows: number[]) => ({ count: rows.length, total: rows.reduce((a, b) => a + b, 0) }),
);

export const main = task({ name: "main", compute: "HIGH" }, async () => {
  console.log("hello from the sandbox");
  await new Promise((resolve) => setTimeout(resolve, 10));
  const child = await analyze([1, 2, 3]); // runs in a NEW sandbox instance with analyze's limits
  return child.result;
});
