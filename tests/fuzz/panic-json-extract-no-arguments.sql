-- strata-bench fuzz --smoke --seed 1 (CI): panic naming a JSON function called without arguments (Strata's json_extract family named its column from args[0] and args[1] before the arguments were checked)
SELECT count(json_extract_scalar()) FROM requests t1
