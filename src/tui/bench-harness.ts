/**
 * For bench/tui.mjs only: the browse app, a test renderer and a file reader from the same
 * bundle, so the in-process measurement uses the very React and Ink instances browse uses
 * (two copies of React in one process break hooks). Built as its own entry point.
 */
export {render} from 'ink-testing-library'
export {createElement} from 'react'
export {BrowseApp} from './browse-app.js'
export {openFileReader} from '../backends/file/index.js'
export {openKafkaReader} from '../backends/kafka/index.js'
export {openRedisReader} from '../backends/redis/index.js'
