-- The function app's managed identity as a user of the service's database, with the least roles
-- the service needs. Idempotent: run it again and it changes nothing. Run as the server's
-- Microsoft Entra administrator, in the service's database, by create-sql-user.sh/.ps1 (go-sqlcmd
-- replaces $(IdentityName) with the user-assigned identity's name, which is its user name).
--   db_datareader, db_datawriter: the rows of every table.
--   db_ddladmin: the service creates and migrates its own tables and indexes at startup, and a
--     restore may truncate a table or switch a staging table in (both need ALTER on the table).
-- Not granted: db_owner, CONTROL, ALTER ANY USER, or anything at server level.
SET NOCOUNT ON;
DECLARE @user sysname = N'$(IdentityName)';

IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @user)
BEGIN
  -- FROM EXTERNAL PROVIDER looks the name up in Microsoft Entra ID with the caller's token.
  EXEC (N'CREATE USER ' + QUOTENAME(@user) + N' FROM EXTERNAL PROVIDER');
  PRINT N'created user ' + @user;
END;

DECLARE @roles TABLE (name sysname NOT NULL);
INSERT INTO @roles (name) VALUES (N'db_datareader'), (N'db_datawriter'), (N'db_ddladmin');

DECLARE @role sysname = (SELECT MIN(name) FROM @roles);
WHILE @role IS NOT NULL
BEGIN
  IF NOT EXISTS (
    SELECT 1
    FROM sys.database_role_members AS m
    JOIN sys.database_principals AS r ON r.principal_id = m.role_principal_id
    JOIN sys.database_principals AS u ON u.principal_id = m.member_principal_id
    WHERE r.name = @role AND u.name = @user
  )
  BEGIN
    EXEC (N'ALTER ROLE ' + QUOTENAME(@role) + N' ADD MEMBER ' + QUOTENAME(@user));
    PRINT N'added ' + @user + N' to ' + @role;
  END;
  SET @role = (SELECT MIN(name) FROM @roles WHERE name > @role);
END;
