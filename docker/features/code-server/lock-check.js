// Checks that npm installed exactly what each package-lock.json pins (npm verified each tarball's
// sha512 against the lock while installing): same version for every package on disk, and no
// required package missing. Usage: node lock-check.js PREFIX DIR... (DIRs relative to PREFIX).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const [prefix, ...dirs] = process.argv.slice(2);
let failures = 0;
for (const dir of dirs) {
  const root = path.join(prefix, dir);
  const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
  let checked = 0;
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!where || entry.link) continue;
    const manifest = path.join(root, where, "package.json");
    if (!fs.existsSync(manifest)) {
      if (!entry.optional && !entry.dev && !entry.devOptional) {
        console.error(`${dir}: ${where} is locked but not installed`);
        failures++;
      }
      continue;
    }
    const installed = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
    checked++;
    if (installed !== entry.version) {
      console.error(`${dir}: ${where} is ${installed}, the lock pins ${entry.version}`);
      failures++;
    }
  }
  console.log(`${dir}: ${checked} packages as locked`);
}
process.exit(failures ? 1 : 0);
