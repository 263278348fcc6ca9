-- wrk script: a 64 KiB multipart upload (two fields and a text file), POSTed.
local boundary = "----waferbench7MA4YWxkTrZu0gW"
local line = "the quick brown fox jumps over the lazy dog 0123456789\n"
local file = string.rep(line, math.floor(65536 / #line))
wrk.method = "POST"
wrk.body = "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"title\"\r\n\r\nQuarterly report\r\n"
  .. "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"tags\"\r\n\r\nfinance,q3\r\n"
  .. "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\n"
  .. "Content-Type: text/plain\r\n\r\n" .. file .. "\r\n"
  .. "--" .. boundary .. "--\r\n"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
