/** App pictures for the portal: image sniffing, the headless browser, and the capture queue. */
export { sniffImage, MAX_THUMBNAIL_BYTES, type ImageType } from './image.js';
export { Browser, findChromium, CHROMIUM_ARGS, CHROMIUM_CANDIDATES, type BrowserOptions } from './browser.js';
export { CAPTURE_DEFAULTS, type CaptureOptions, type CaptureCookie } from './capture.js';
export {
  ThumbnailService,
  type ThumbnailJobs,
  type ThumbnailServiceOptions,
  type OwnerSession,
} from './thumbnails.js';
