-- a list of ten billion elements: an allocation that ends the process; now fails at once naming limits.max_value_bytes
SELECT unnest(range(0, 10000000000))
