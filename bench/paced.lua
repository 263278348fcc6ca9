-- wrk script: each connection waits 1 ms after every response before it sends
-- the next request, so the offered load is about connections x 1000/(1 + latency
-- in ms) requests/s instead of as many as the target can take (bench/proxy.sh
-- uses it for the latency Wafer adds at half its peak load).
function delay()
  return 1
end
