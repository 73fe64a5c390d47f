// CloudFront Function (runtime cloudfront-js-2.0, viewer request) on the dashboard's default behavior.
// An S3 origin behind OAC serves no directory index, so a page URL such as /dashboard/cfo or
// /dashboard/cfo/ is rewritten to the object the build wrote, /dashboard/cfo/index.html
// (scripts/serve_dashboard.py does the same locally). A URI whose last segment has a dot is a file
// (/assets/app-1a2b.js, /config.json) and passes as it is. The query string is a separate field of
// the event (request.querystring), so it reaches the origin untouched.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith("/")) {
    request.uri = uri + "index.html";
  } else if (uri.slice(uri.lastIndexOf("/") + 1).indexOf(".") === -1) {
    request.uri = uri + "/index.html";
  }
  return request;
}
