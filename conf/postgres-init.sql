-- Run once by a superuser on the gateway's database (the docker-compose postgres service does it).
CREATE EXTENSION IF NOT EXISTS vector;
