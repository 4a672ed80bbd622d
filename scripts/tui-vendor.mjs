// The TUI's ES-module-only npm packages (Ink and yoga-layout use top-level await, which a
// CommonJS bundle cannot hold), with the React they share, built as dist/tui-vendor.js.
import * as ink from 'ink'
import react from 'react'
import jsxRuntime from 'react/jsx-runtime'

export {ink, react, jsxRuntime as 'react/jsx-runtime'}
