#!/usr/bin/env node
// terraform fmt for machines without Terraform, using the same formatter (hclwrite).
//   node scripts/hcl_fmt/check.js <dir>           exit 1 and list the files that are not formatted
//   node scripts/hcl_fmt/check.js --write <dir>   format them in place
"use strict";

const fs = require("fs");
const path = require("path");
const { format } = require("@cdktf/hcl-tools");

function terraformFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith(".") ? [] : terraformFiles(full);
    return /\.(tf|tfvars)$/.test(entry.name) ? [full] : [];
  });
}

async function main() {
  const args = process.argv.slice(2);
  const write = args.includes("--write");
  const dirs = args.filter((arg) => arg !== "--write");
  if (dirs.length === 0) {
    console.error("usage: check.js [--write] <dir>...");
    process.exit(2);
  }
  const unformatted = [];
  for (const file of dirs.flatMap(terraformFiles).sort()) {
    const source = fs.readFileSync(file, "utf8");
    const formatted = await format(source);
    if (formatted !== source) {
      unformatted.push(file);
      if (write) fs.writeFileSync(file, formatted);
    }
  }
  for (const file of unformatted) console.log(file);
  process.exit(unformatted.length > 0 && !write ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
