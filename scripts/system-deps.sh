#!/bin/sh
# A Java runtime runs pycocoevalcap's PTB tokenizer and METEOR (caption metrics); without it
# videobert.metrics.captioning raises JavaNotFoundError naming what to install.
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -q default-jre-headless >/dev/null 2>&1 || \
     (apt-get update -q >/dev/null 2>&1 && \
      apt-get install -y -q default-jre-headless >/dev/null 2>&1)) \
     || echo "note: could not install a Java runtime; caption metrics (METEOR etc.) need one"
  else
    echo "note: java not found; install a Java runtime for caption metrics (METEOR etc.)"
  fi
fi
# Debian's chromium: the web page's end-to-end test drives it with Playwright (Playwright's own
# browser download is not used); without it that test skips and says why.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y -q chromium >/dev/null 2>&1 || \
   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
   || echo "note: could not install chromium; the browser test of the web page will skip"
fi
# System packages the project uses when present: espeak-ng speaks the built-in dataset's
# narration into its audio track (so the speech path is exercised). Installed when we are root
# and apt is available; otherwise the dataset is written without speech, and says so.
if command -v espeak-ng >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y -q espeak-ng >/dev/null 2>&1 || \
   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q espeak-ng >/dev/null 2>&1)) \
   || echo "note: could not install espeak-ng; synthetic videos will have no spoken narration"
else
  echo "note: espeak-ng not found; install it for spoken narration in the built-in dataset"
fi
exit 0
