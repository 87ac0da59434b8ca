# The function app in a container, on the official Azure Functions Node.js image (Functions host 4,
# Node 22). Runs anywhere a container runs; docker-compose.yml starts it beside SQL Server and Azurite.
#   docker build -t csv-to-azure-sql .
# Settings come from the environment, as app settings do on Azure (see local.settings.sample.json).

# Build on the same image as the runtime, so better-sqlite3's prebuilt native binary is the one
# for this Node version and C library.
FROM mcr.microsoft.com/azure-functions/node:4-node22 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY functions ./functions
COPY shared ./shared
COPY clients/dashboard ./clients/dashboard
RUN npm run build && npm prune --omit=dev

FROM mcr.microsoft.com/azure-functions/node:4-node22
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=node \
    NODE_ENV=production
WORKDIR /home/site/wwwroot
COPY host.json ./
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
