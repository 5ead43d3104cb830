// Serve @labdigital/commercetools-mock on 127.0.0.1 for the benchmark.
//
//   node bench/mock_launcher.mjs <port> [project] [preload.jsonl]
//
// The package is resolved from bench/.peers/ (see bench/peers.py). With a preload file (one CustomerDraft per
// line, as bench/data.py writes them), the customers are added through the mock's own seeding API
// (ProjectAPI.unsafeAdd) before listening, shaped as the mock's own create would store them: loading 100k
// customers through HTTP would cost O(n^2), because each create scans every customer for a duplicate email.
// Prints "READY <port>" on stdout once it accepts connections.
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.BENCH_PEERS_DIR || path.join(here, ".peers"), "package.json"));
const { CommercetoolsMock } = await import(require.resolve("@labdigital/commercetools-mock"));

const port = Number(process.argv[2] || 8989);
const projectKey = process.argv[3] || "bench";
const preload = process.argv[4];

const mock = new CommercetoolsMock({ silent: true, enableAuthentication: false, validateCredentials: false });

function toCustomer(draft, n) {
  const now = new Date().toISOString();
  const addresses = (draft.addresses || []).map((a, i) => ({ ...a, id: `a${n}x${i}` }));
  const pick = (index) => (index === undefined ? undefined : addresses[index]?.id);
  return {
    id: randomUUID(),
    version: 1,
    createdAt: now,
    lastModifiedAt: now,
    key: draft.key,
    authenticationMode: draft.authenticationMode || "Password",
    firstName: draft.firstName,
    lastName: draft.lastName,
    middleName: draft.middleName,
    companyName: draft.companyName,
    email: draft.email.toLowerCase(),
    lowercaseEmail: draft.email.toLowerCase(),
    isEmailVerified: draft.isEmailVerified || false,
    addresses,
    customerNumber: draft.customerNumber,
    externalId: draft.externalId,
    defaultShippingAddressId: pick(draft.defaultShippingAddress),
    defaultBillingAddressId: pick(draft.defaultBillingAddress),
    shippingAddressIds: (draft.shippingAddresses || []).map(pick),
    billingAddressIds: (draft.billingAddresses || []).map(pick),
    stores: [],
    customerGroupAssignments: [],
  };
}

if (preload) {
  const project = mock.project(projectKey);
  const lines = readline.createInterface({ input: fs.createReadStream(preload), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    if (!line.trim()) continue;
    await project.unsafeAdd("customer", toCustomer(JSON.parse(line), n));
    n += 1;
  }
  process.stderr.write(`preloaded ${n} customers\n`);
}

await mock.app.listen({ host: "127.0.0.1", port });
process.stdout.write(`READY ${port}\n`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    mock.app.close().finally(() => process.exit(0));
  });
}
