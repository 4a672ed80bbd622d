// The TUI's ES-module-only npm packages (Ink and yoga-layout use top-level await, which a
// CommonJS bundle cannot hold), with the React they share, built as dist/tui-vendor.js.
// scripts/build.mjs maps each export to the module name dist/cli.cjs imports it by.
import * as ink from 'ink'
import react from 'react'
import jsxRuntime from 'react/jsx-runtime'

export {ink, react, jsxRuntime}
