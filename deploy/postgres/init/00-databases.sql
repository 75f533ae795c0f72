-- Run by the postgres image on first start: the campaign database next to the CRM database
-- (POSTGRES_DB). tandem-demo creates the tables in both.
CREATE DATABASE campaigns;
