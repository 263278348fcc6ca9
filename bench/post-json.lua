-- wrk script: a 2 KiB JSON order, POSTed.
local items = {}
for i = 1, 20 do
  items[#items + 1] = string.format('{"sku":"SKU-%05d","qty":%d,"note":"gift wrap please"}', i, i)
end
wrk.method = "POST"
wrk.body = '{"customer":{"name":"Ada Lovelace","email":"ada@example.com"},"items":[' .. table.concat(items, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
