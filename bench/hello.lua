-- wrk script for bench/load.py's floor: each connection alternates GET / and POST / (a small form).
local get_next = true
local body = "a=4&b=5&c=3&d=4&e=5&f=4&g=4&h=3&i=4&j=5&k=4&l=4&m=5&n=4&o=4&p=4"

function request()
  get_next = not get_next
  if not get_next then
    return wrk.format("GET", "/")
  end
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
