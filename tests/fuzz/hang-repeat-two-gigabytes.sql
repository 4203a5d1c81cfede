-- issue 18: ran for minutes building a 2 GiB string, then failed with `endpoint 0 returned inconsistent schema`; now fails at once naming limits.max_value_bytes
SELECT repeat('x', 2147483647)
