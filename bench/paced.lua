-- wrk script: each connection waits 0, 1 or 2 ms (at random, 1 ms on average)
-- after every response before it sends the next request, so the offered load
-- is about connections x 1000/(1 + latency in ms) requests/s instead of as
-- many as the target can take. The random wait keeps the connections from
-- firing in step: with a fixed wait they all send in the same instant and
-- the last of each burst waits for all the others (bench/proxy.sh uses it
-- for the latency Wafer adds at half its peak load).
math.randomseed(os.time())

function delay()
  return math.random(0, 2)
end
