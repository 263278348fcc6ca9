-- wrk script: a 1 MiB multipart upload of a binary file (an image: PNG
-- signature, then bytes from a fixed-seed generator), past the 128 KiB parse
-- buffer, so it is inspected as it streams.
local boundary = "----waferbenchUpload1MiB"
math.randomseed(14)
local bytes = { "\137PNG\r\n\26\n" }
for i = 1, 1024 * 1024 / 64 do
  local chunk = {}
  for j = 1, 64 do chunk[j] = string.char(math.random(0, 255)) end
  bytes[#bytes + 1] = table.concat(chunk)
end
wrk.method = "POST"
wrk.body = "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"title\"\r\n\r\nHoliday photo\r\n"
  .. "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"photo\"; filename=\"beach.png\"\r\n"
  .. "Content-Type: image/png\r\n\r\n" .. table.concat(bytes) .. "\r\n"
  .. "--" .. boundary .. "--\r\n"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
