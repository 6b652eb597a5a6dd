# A reproducible test image: Node 20 on Debian with redis-server for the integration suites.
# docker build -t sop-ts . && docker run --rm sop-ts            (runs the CI job)
# docker run --rm sop-ts npm run sim:nightly -- --minutes 60     (a nightly simulation budget)
FROM node:20-bookworm
RUN apt-get update -qq && apt-get install -y -qq redis-server && rm -rf /var/lib/apt/lists/*
WORKDIR /sop-ts
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build
CMD ["bash", ".ci/run"]
