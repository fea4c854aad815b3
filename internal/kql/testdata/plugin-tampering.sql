WITH
q1 AS (SELECT "TimeGenerated", "RecordType", "ActorName", "SrcIpAddr" FROM "CopilotActivity"),
q2 AS (SELECT * FROM q1 WHERE ("TimeGenerated" > TIMESTAMP '2026-03-09 00:00:00.000000')),
q3 AS (SELECT * FROM q2 WHERE ("RecordType" IN ('EnableCopilotPlugin', 'DisableCopilotPlugin'))),
q4 AS (SELECT "ActorName" AS "ActorName", "SrcIpAddr" AS "SrcIpAddr", coalesce(to_json(list_sort(list_distinct(list("RecordType") FILTER (WHERE "RecordType" IS NOT NULL)), 'ASC')), '[]'::JSON) AS "Operations", min("TimeGenerated") AS "StartTime", max("TimeGenerated") AS "EndTime", (count(*) FILTER (WHERE regexp_full_match(CAST(to_json("RecordType") AS VARCHAR), '(?s)(|.*[^0-9A-Za-z])[eE][nN][aA][bB][lL][eE][cC][oO][pP][iI][lL][oO][tT][pP][lL][uU][gG][iI][nN](|[^0-9A-Za-z].*)')) > 0) AS "__kql_sethas1", (count(*) FILTER (WHERE regexp_full_match(CAST(to_json("RecordType") AS VARCHAR), '(?s)(|.*[^0-9A-Za-z])[dD][iI][sS][aA][bB][lL][eE][cC][oO][pP][iI][lL][oO][tT][pP][lL][uU][gG][iI][nN](|[^0-9A-Za-z].*)')) > 0) AS "__kql_sethas2" FROM q3 GROUP BY 1, 2),
q5 AS (SELECT * FROM q4 WHERE ("__kql_sethas1" AND "__kql_sethas2")),
q6 AS (SELECT * FROM q5 WHERE (("EndTime" - "StartTime") <= INTERVAL '300000000 microseconds')),
q7 AS (SELECT "ActorName", "SrcIpAddr", "Operations", "StartTime", "EndTime" FROM q6)
SELECT "ActorName", "SrcIpAddr", "Operations", "StartTime", "EndTime" FROM q7
