// The tracker's web page (web/), built into the binary by cmake/embed_files.cmake so that the
// tracker serves it with nothing beside it on disk and nothing fetched at run time.
#ifndef FLEETTUNE_TRACKER_WEB_ASSETS_H_
#define FLEETTUNE_TRACKER_WEB_ASSETS_H_

#include <string_view>
#include <vector>

namespace fleettune::tracker {

struct WebAsset {
  std::string_view path;  // relative to web/: "index.html", "app.js"
  std::string_view body;
};

// Every file of web/, as the build found it. Thread-safe.
const std::vector<WebAsset>& WebAssets();

}  // namespace fleettune::tracker

#endif  // FLEETTUNE_TRACKER_WEB_ASSETS_H_
