#!/usr/bin/env node
// Build the static dashboard into dist/ (copy to S3 as it is):
//   node dashboard/build.mjs [--out DIR] [--api-url URL] [--refresh-seconds N]
//                            [--demo-key-id ID --demo-key-secret SECRET] [--print-csp | --print-headers]
// Bundles src/ with esbuild (Chart.js included: no CDN at run time), writes one HTML page per
// dashboard path with the Content-Security-Policy in a <meta> tag, config.json, and headers.json
// (the same CSP and security headers for the CDN / the local server to send as HTTP headers).

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, "src");

export const PAGES = [
  { path: "index.html", page: "overview", title: "Overview", heading: "Cost overview" },
  { path: "dashboard/cfo/index.html", page: "cfo", title: "CFO", heading: "CFO: spend, budget and forecast" },
  { path: "dashboard/coo/index.html", page: "coo", title: "COO", heading: "COO: operations and efficiency" },
  { path: "dashboard/infrastructure/index.html", page: "infrastructure", title: "Infrastructure",
    heading: "Infrastructure: utilisation and cost" },
  { path: "dashboard/llm/index.html", page: "llm", title: "LLM", heading: "LLM: training runs and RAG pipelines" },
];

/** connect-src gets the API's origin; nothing runs but our own bundled script. */
export function csp(apiUrl, { meta = false } = {}) {
  let api = "";
  if (apiUrl) {
    const u = new URL(apiUrl);
    api = ` ${u.origin}`;
  }
  const directives = [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    `connect-src 'self'${api}`, "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "object-src 'none'",
  ];
  // frame-ancestors is ignored (with a console error) in a <meta> policy: header only
  if (!meta) directives.push("frame-ancestors 'none'");
  return directives.join("; ");
}

/** The HTTP response headers of every page (headers.json): the CDN's response-headers policy sends them. */
export function headers(apiUrl) {
  return {
    "Content-Security-Policy": csp(apiUrl),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
  };
}

function checkSources() {
  for (const f of readdirSync(SRC, { recursive: true })) {
    if (!String(f).endsWith(".js")) continue;
    const text = readFileSync(join(SRC, f), "utf8");
    for (const banned of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
      if (text.includes(banned) && !text.includes(`no ${banned} anywhere`)) {
        throw new Error(`${f} uses ${banned}: render API data with textContent / dom.h() only`);
      }
    }
  }
}

function escapeAttr(s) {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

export async function build(opts) {
  const out = resolve(opts.out);
  const refresh = Number.parseInt(opts["refresh-seconds"] ?? "60", 10);
  if (!Number.isFinite(refresh) || refresh < 5) throw new Error("--refresh-seconds must be at least 5");
  if (Boolean(opts["demo-key-id"]) !== Boolean(opts["demo-key-secret"])) {
    throw new Error("--demo-key-id and --demo-key-secret go together");
  }
  checkSources();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets"), { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(SRC, "main.js"), style: join(SRC, "styles.css") },
    bundle: true, minify: true, format: "esm", target: ["es2022"], sourcemap: false, legalComments: "linked",
    outdir: join(out, "assets"), entryNames: "[name]-[hash]", metafile: true, logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => p.split("/").pop());
  const js = outputs.find((n) => /^app-.*\.js$/.test(n));
  const css = outputs.find((n) => /^style-.*\.css$/.test(n));
  copyFileSync(join(SRC, "favicon.svg"), join(out, "assets", "favicon.svg"));
  const template = readFileSync(join(SRC, "page.html"), "utf8");
  const metaCsp = csp(opts["api-url"], { meta: true });
  for (const p of PAGES) {
    const html = template.replaceAll("{{CSP}}", escapeAttr(metaCsp)).replaceAll("{{TITLE}}", p.title)
      .replaceAll("{{HEADING}}", p.heading).replaceAll("{{PAGE}}", p.page).replaceAll("{{JS}}", js)
      .replaceAll("{{CSS}}", css);
    mkdirSync(dirname(join(out, p.path)), { recursive: true });
    writeFileSync(join(out, p.path), html);
  }
  const config = { api_url: opts["api-url"] || "", refresh_seconds: refresh };
  if (opts["demo-key-id"]) config.demo_key = { id: opts["demo-key-id"], secret: opts["demo-key-secret"] };
  writeFileSync(join(out, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(out, "headers.json"), `${JSON.stringify(headers(opts["api-url"]), null, 2)}\n`);
  const digest = createHash("sha256").update(readFileSync(join(out, "assets", js))).digest("hex").slice(0, 12);
  return { out, js, css, pages: PAGES.map((p) => p.path), bundle_sha256: digest };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: join(HERE, "dist") },
      "api-url": { type: "string" },
      "refresh-seconds": { type: "string" },
      "demo-key-id": { type: "string" },
      "demo-key-secret": { type: "string" },
      "print-csp": { type: "boolean" },
      "print-headers": { type: "boolean" },
    },
  });
  if (values["print-csp"]) {
    process.stdout.write(`${csp(values["api-url"])}\n`);
  } else if (values["print-headers"]) {
    process.stdout.write(`${JSON.stringify(headers(values["api-url"]))}\n`);
  } else {
    build(values).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`)).catch((e) => {
      process.stderr.write(`dashboard build failed: ${e.message}\n`);
      process.exit(1);
    });
  }
}
