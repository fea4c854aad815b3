WITH
q1 AS (SELECT "TimeGenerated", "RecordType", "ActorName", "SrcIpAddr", "AppHost" FROM "CopilotActivity"),
q2 AS (SELECT * FROM q1 WHERE (("TimeGenerated" >= TIMESTAMP '2026-03-01 00:00:00.000000') AND (NOT (lower("AppHost") IN (lower('word'), lower('excel')))))),
q3 AS (SELECT "ActorName" AS "ActorName", arg_max({'f0': "TimeGenerated", 'f1': "RecordType", 'f2': "SrcIpAddr"}, "TimeGenerated") AS "__kql_arg0" FROM q2 GROUP BY 1),
q4 AS (SELECT "ActorName", struct_extract("__kql_arg0", 'f0') AS "TimeGenerated", coalesce(struct_extract("__kql_arg0", 'f1'), '') AS "RecordType", coalesce(struct_extract("__kql_arg0", 'f2'), '') AS "SrcIpAddr" FROM q3),
q5 AS (SELECT "ActorName", "TimeGenerated", "RecordType", "SrcIpAddr", row_number() OVER (ORDER BY "ActorName" ASC NULLS LAST) AS "__kql_ord1" FROM q4),
q6 AS (SELECT * FROM q5 ORDER BY "__kql_ord1" LIMIT 5)
SELECT "ActorName", "TimeGenerated", "RecordType", "SrcIpAddr" FROM q6 ORDER BY "__kql_ord1"
