# portals
