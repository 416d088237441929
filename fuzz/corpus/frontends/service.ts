export const f = async (ids: number[]) => Promise.all(ids.map(async (id) => prisma.user.findUnique({ where: { id } })));
const cfg = { apiKey: "k", token: `t${1}` };
