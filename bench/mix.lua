-- wrk script: the browser GET, with every tenth request an attack (SQL
-- injection, XSS, path traversal in turn).
local ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
local headers = {
  ["User-Agent"] = ua,
  ["Accept"] = "text/html,*/*;q=0.8",
  ["Accept-Language"] = "en-US,en;q=0.9",
  ["Cookie"] = "_ga=GA1.2.1234567890.1700000000; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc; theme=dark",
}
local attacks = {
  "/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--",
  "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
  "/files?name=../../../../etc/passwd",
}
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("GET", attacks[(n / 10) % #attacks + 1], headers)
  end
  return wrk.format("GET", "/products/view?id=1234&ref=home&utm_source=newsletter", headers)
end
